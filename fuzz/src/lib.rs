//! Shared code of the fuzz targets. The JSON checks live in [`checks`], a file with no
//! libFuzzer in it, so that `std-adapter/tests/fuzz_corpus_json.rs` can include it and
//! replay the committed corpus through exactly the same code on stable.

pub mod checks;
