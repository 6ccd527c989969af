"""Tiny randomly initialised models for tests and speed benchmarks: real architectures, random weights.

They are built here, not loaded, so tests never need a download; nothing in the library imports this.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# The word-level vocabulary of the tiny causal and masked models: enough for multi-token objects.
WORDS = ["was", "born", "in", "died", ".", ",", "is", "the", "capital", "of", "Paris", "London", "New",
         "York", "City", "Rome", "Marie", "Curie", "Albert", "Einstein", "Ada", "(", ")", "birthplace"]


def word_tokenizer(specials: dict[str, str], words: Sequence[str] = WORDS):
    """A whitespace word-level fast tokenizer over `words`, with the given special tokens first."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(list(specials.values()) + list(words))}
    tk = Tokenizer(models.WordLevel(vocab, unk_token=specials["unk_token"]))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tk, **specials)


def tiny_causal(kind: str = "llama"):
    """(model, tokenizer): a 2-layer Llama (or GPT-2 with kind="gpt2") over WORDS, seeded."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

    tok = word_tokenizer({"unk_token": "<unk>", "eos_token": "<|endoftext|>", "pad_token": "<pad>"})
    torch.manual_seed(0)
    if kind == "llama":
        cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
        model = LlamaForCausalLM(cfg)
    else:
        cfg = GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=4, n_positions=64)
        model = GPT2LMHeadModel(cfg)
    return model, tok


def save_tiny_causal(folder: str | Path, kind: str = "llama") -> Path:
    """`tiny_causal` saved with save_pretrained (safetensors), for code that loads a model folder."""
    model, tok = tiny_causal(kind)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return Path(folder)


def tiny_masked():
    """(model, tokenizer): a 2-layer BERT masked LM over WORDS with [CLS] ... [SEP] framing, seeded."""
    import torch
    from tokenizers import processors
    from transformers import BertConfig, BertForMaskedLM

    tok = word_tokenizer({"unk_token": "[UNK]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                          "sep_token": "[SEP]", "mask_token": "[MASK]"})
    tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", tok.cls_token_id), ("[SEP]", tok.sep_token_id)])
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                     num_attention_heads=4, max_position_embeddings=64)
    return BertForMaskedLM(cfg), tok


BERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "paris", "is", "the", "capital", "of", "france"]


def save_tiny_bert(folder: str | Path, vocab: Sequence[str] = BERT_VOCAB):
    """A 1-layer BERT masked LM with a WordPiece tokenizer, saved as safetensors; returns
    (folder, a copy of its state dict) so a test can check what is loaded back."""
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    ids = {t: i for i, t in enumerate(vocab)}
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=len(ids), hidden_size=8, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=16, max_position_embeddings=16))
    folder = Path(folder)
    model.save_pretrained(folder)
    BertTokenizer(vocab=dict(ids)).save_pretrained(folder)
    return folder, {k: v.clone() for k, v in model.state_dict().items()}


def make_random_marian(out_dir: str | Path, corpus: Sequence[str], *, vocab_size: int | None = None,
                       spm_vocab_size: int = 200, d_model: int = 512, layers: int = 6, heads: int = 8,
                       ffn_dim: int = 2048, init_std: float = 0.02, seed: int = 0) -> Path:
    """Save a randomly initialised MarianMT model with a SentencePiece vocabulary trained on `corpus`.

    For tests and speed benchmarks: the architecture is real, the weights are not. `vocab_size` pads the
    vocabulary (and so the output layer) to a realistic size such as opus-mt-en-de's 58101. With the
    default `init_std` a random model says the same thing whatever the input; about 0.05 makes its
    outputs depend on the input, as a trained model's do (for benchmarks, where identical outputs would
    be de-duplicated and flatter the engine)."""
    import io
    import json

    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=buf, vocab_size=spm_vocab_size, model_type="unigram",
        character_coverage=1.0, hard_vocab_limit=False, user_defined_symbols=["[", "]"],
        unk_id=2, bos_id=-1, eos_id=1, pad_id=0, num_threads=1, minloglevel=2)
    for name in ("source.spm", "target.spm"):
        (out / name).write_bytes(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    # Marian's layout: </s>=0, <unk>=1, pieces..., <pad> last.
    vocab = {"</s>": 0, "<unk>": 1}
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        if piece not in vocab and piece not in ("<pad>", "<s>"):
            vocab[piece] = len(vocab)
    target = max(vocab_size or 0, len(vocab) + 1)
    while len(vocab) < target - 1:
        vocab[f"▁tok{len(vocab)}"] = len(vocab)
    vocab["<pad>"] = len(vocab)
    (out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "MarianTokenizer", "model_max_length": 512}), encoding="utf-8")
    pad = vocab["<pad>"]
    config = MarianConfig(
        vocab_size=len(vocab), d_model=d_model, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn_dim,
        decoder_ffn_dim=ffn_dim, max_position_embeddings=512, pad_token_id=pad, eos_token_id=0,
        decoder_start_token_id=pad, forced_eos_token_id=0, scale_embedding=True, share_encoder_decoder_embeddings=True,
        init_std=init_std)
    torch.manual_seed(seed)
    model = MarianMTModel(config)
    model.generation_config.bad_words_ids = [[pad]]
    model.save_pretrained(str(out), safe_serialization=True)
    return out
