//! Test fixtures: a private MariaDB server, and (later) the simulated TiDB cluster.
