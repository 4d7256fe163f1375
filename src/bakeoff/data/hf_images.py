"""Image classification data sets from the Hugging Face hub (CIFAR, Oxford Pets, Flowers ...).

`HFDatasetSource` reads tables whose text column holds strings; an `Image` feature arrives from
`to_pandas()` as {"bytes": PNG/JPEG bytes, "path": ...} per row, which must reach the image
transforms as it is (`bakeoff.data.image.to_rgb` decodes it), not as its string form.
"""

from __future__ import annotations

import pandas as pd

from bakeoff.data.raw import RawSplit
from bakeoff.data.sources import HFDatasetSource


class HFImageSource(HFDatasetSource):
    """An HF data set with an image column and a class column, by split names."""

    def __init__(self, path: str, image_column: str, label_column: str, **options):
        super().__init__(path, text_column=image_column, label_column=label_column, **options)
        self.image_column = image_column

    def split(self, df: pd.DataFrame, where: str) -> RawSplit:
        # The table checks (labels, blank rows) run on a row number standing in for the image;
        # the images of the rows kept then replace it.
        images = df[self.image_column].tolist()
        numbered = df.assign(**{self.image_column: [str(i) for i in range(len(df))]})
        raw = super().split(numbered, where)
        raw.items = [images[int(i)] for i in raw.items]
        return raw
