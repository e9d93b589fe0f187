"""Implementations of the ports: stores and buses."""
