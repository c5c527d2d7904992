//! Backends that take parsed rows to the target: the logical tidb backend (batched SQL).
