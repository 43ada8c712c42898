"""Model adapters: the one interface every generator (built-in, control or external) implements."""
