"""Small helpers with no place in one domain package (paths of the shipped configs)."""
