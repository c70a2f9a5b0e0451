"""The Hugging Face Trainer with tracker's callback: one line added to a normal Trainer script.

    python examples/hf_trainer.py [--db PATH] [--steps 40]

A tiny BERT built from a config (nothing downloaded from a hub) learns a made-up task on token
ids generated here: is the first token's id even? The callback records the TrainingArguments
and the model config, training loss, gradient norm and learning rate, evaluation metrics, and
the test metrics of ``predict()`` after training, all in one run (finished when the script ends).
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from tracker.integrations.transformers import TrackerCallback


class TokenTask(torch.utils.data.Dataset):  # type: ignore[type-arg]
    def __init__(self, size: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(5, 200, (size, 16), generator=generator)
        self.labels = (self.ids[:, 0] % 2 == 0).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "input_ids": self.ids[index],
            "attention_mask": torch.ones(16, dtype=torch.long),
            "labels": self.labels[index],
        }


def accuracy(prediction: object) -> dict[str, float]:
    logits, labels = prediction.predictions, prediction.label_ids  # type: ignore[attr-defined]
    return {"accuracy": float((logits.argmax(-1) == labels).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=None)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    config = BertConfig(
        vocab_size=256,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=2,
    )
    model = BertForSequenceClassification(config)
    with tempfile.TemporaryDirectory() as output:
        training = TrainingArguments(
            output_dir=output,
            run_name="tiny-bert",
            max_steps=args.steps,
            per_device_train_batch_size=32,
            learning_rate=1e-3,
            warmup_steps=5,
            logging_steps=5,
            eval_strategy="steps",
            eval_steps=20,
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=model,
            args=training,
            train_dataset=TokenTask(2048, 0),
            eval_dataset=TokenTask(256, 1),
            compute_metrics=accuracy,
            callbacks=[TrackerCallback(project="examples", db=args.db)],  # the one added line
        )
        trainer.train()
        trainer.predict(TokenTask(256, 2))  # test/loss, test/accuracy: same run, after training


if __name__ == "__main__":
    main()
