"""assertions"""
