"""bakeoff: fine-tune pretrained backbones and compare them, from one Hydra sweep."""

__version__ = "0.1.0"
