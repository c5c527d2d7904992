//! Where bytes come from: the dump folder, file routing, table filter, decompression and chunking.
