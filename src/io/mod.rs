//! Moving bytes: the terminal side, the two-way pump, and chat's byte transforms.

pub mod chat;
pub mod kernel_copy;
pub mod pump;
pub mod stdio;
