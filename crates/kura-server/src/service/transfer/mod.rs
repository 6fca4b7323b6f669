//! Taking a collection's records out to a file and bringing them in from one (DAT-5, DAT-6):
//! CSV in the encodings Japanese offices use, and JSON Lines.

pub mod export;
pub mod format;
