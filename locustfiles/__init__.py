"""locustfiles"""
