"""File digests: checkpoint provenance (``transfer``) and step keys (``ladder``) hash alike."""

import hashlib


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()
