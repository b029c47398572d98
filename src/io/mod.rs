//! Moving bytes: the terminal side, the two-way pump, and chat's byte transforms.

pub mod chat;
pub mod children;
pub mod crlf;
pub mod exec;
pub mod kernel_copy;
pub mod lua;
pub mod progress;
pub mod pty;
pub mod pump;
pub mod session_log;
pub mod stdio;
pub mod telnet;
pub mod transform;
pub mod tunnel;
