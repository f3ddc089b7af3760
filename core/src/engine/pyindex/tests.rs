//! Tests of the CPython index on engine storage.
