"""Pure SMS mechanics: phone numbers, GSM 03.38 / UCS-2 encodings, segments."""
