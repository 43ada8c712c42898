"""Weight registry: every weight file a metric or model uses, with SHA-256, licence and source."""
