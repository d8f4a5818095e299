"""stack/app"""
