"""The FiftyOne layer: the only code in the package that imports fiftyone."""
