"""Helpers with no OpenMMLab dependency that several packages share (hashing, config paths)."""
