//! Lightning's configuration: TOML file and command-line flags resolved into one validated struct.
