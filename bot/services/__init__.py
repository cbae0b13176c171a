"""Domain services: plain values in, plain values out; each call owns its transaction."""
