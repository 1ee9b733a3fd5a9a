"""The load bench (``make bench``): servers, scenarios and goals as data, see bench/cli.py."""
