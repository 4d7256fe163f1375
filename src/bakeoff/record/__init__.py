"""What a run writes: the record's schema and its file (`results.json`)."""
