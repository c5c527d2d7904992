//! Sans-I/O decoders for SQL dumps and CSV: bytes in, rows out.
