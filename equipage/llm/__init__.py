"""Models: the normalized message protocol, the ChatModel interface and its providers;
speech-to-text beside them (``speech``: the SpeechToText interface and its providers).

Providers are looked up by name and imported only when a role asks for one, so a
missing SDK fails with the ``pip install`` line to run, and only for that provider.
"""
