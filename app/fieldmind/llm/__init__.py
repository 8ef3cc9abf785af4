"""The language model: the catalogue of models, the engine that runs one, and the prompts it gets."""
