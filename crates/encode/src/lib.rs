//! TiDB's table model, value casting, row/index key-value codec and KV checksum.
