"""Running Kefu's processes: Rasa endpoint generation, model training, supervision."""
