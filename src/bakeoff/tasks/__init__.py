"""Task kinds: what differs between classification, regression, token and multi-label tasks."""
