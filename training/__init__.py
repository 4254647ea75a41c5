"""What rebuilds codelens models: corpus, tokenizer and pretraining recipes, adapter training and evaluation."""
