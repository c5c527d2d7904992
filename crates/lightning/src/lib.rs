//! The import controller: schema, chunk scheduling, backends, progress and summary.
