"""Helpers the tests use to start real peers (servers), usable outside pytest too."""
