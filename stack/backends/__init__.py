"""stack/backends"""
