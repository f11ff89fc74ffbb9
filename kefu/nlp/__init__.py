"""Chinese NLP helpers: catalogue, jieba user dictionary, spaCy zh pipeline,
text normalisation and appointment-time parsing.

Importing this package is cheap: spaCy and jieba are imported only by the
modules that need them (``spacy_zh``, ``build``, ``jieba_dict`` on first use).
"""
