//! `--lua-exec FILE`: a Lua 5.4 script for each connection, run by this same binary in a
//! child process (`ncat --run-lua-script FILE`), so the script's standard input and output
//! are the connection exactly as a `-e` child's are, with the same `NCAT_*` environment,
//! `-m` accounting, EOF handling and descriptor hygiene. The interpreter is embedded (mlua,
//! Lua vendored): no system Lua is needed.

use std::path::Path;

use crate::error::{Failure, strerror};

/// The hidden first argument that makes the binary a Lua child instead of ncat.
pub const RUN_SCRIPT: &str = "--run-lua-script";

/// Loads and compiles the script, as Ncat does before it listens or connects, so a missing
/// file or a syntax error ends the program at once.
pub fn check(path: &str) -> Result<(), Failure> {
    let lua = mlua::Lua::new();
    compile(&lua, path)
        .map(drop)
        .map_err(|e| Failure::Fatal(format!("Error loading the Lua script: {e}.")))
}

/// Runs the script with the standard libraries (its `io` is stdin and stdout); returns the
/// exit status. A run-time error is reported in Ncat's words and ends this child only.
pub fn run(path: &str) -> i32 {
    let lua = mlua::Lua::new();
    let outcome = compile(&lua, path).and_then(|chunk| chunk.call::<()>(()).map_err(describe));
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            crate::say!("Ncat: Error running the Lua script: {e}. QUITTING.");
            2
        }
    }
}

/// The script as a function, named after its file in Lua's messages (`x.lua:1: ...`).
fn compile(lua: &mlua::Lua, path: &str) -> Result<mlua::Function, String> {
    let mut source = std::fs::read(Path::new(path))
        .map_err(|e| format!("cannot open {path}: {}", strerror(&e)))?;
    // Like `lua FILE`, skip a first line that starts with `#` (`#!/usr/bin/lua`), keeping its
    // line break so line numbers stay right.
    if source.first() == Some(&b'#') {
        let end = memchr::memchr(b'\n', &source).unwrap_or(source.len());
        source.drain(..end);
    }
    lua.load(source)
        .set_name(format!("@{path}"))
        .into_function()
        .map_err(describe)
}

/// Lua's own message, without mlua's wrapping (`syntax error: ...`, `runtime error: ...`).
fn describe(error: mlua::Error) -> String {
    match error {
        mlua::Error::SyntaxError { message, .. } | mlua::Error::RuntimeError(message) => message,
        mlua::Error::CallbackError { cause, .. } => describe((*cause).clone()),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_errors_read_like_luas() {
        let dir = std::env::temp_dir().join(format!("ncat-lua-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.lua");
        let missing = missing.to_str().unwrap();
        assert_eq!(
            check(missing).unwrap_err().to_string(),
            format!(
                "Ncat: Error loading the Lua script: cannot open {missing}: No such file or directory. QUITTING."
            )
        );
        let bad = dir.join("bad.lua");
        std::fs::write(&bad, "x = = 1\n").unwrap();
        let bad = bad.to_str().unwrap();
        assert_eq!(
            check(bad).unwrap_err().to_string(),
            format!(
                "Ncat: Error loading the Lua script: {bad}:1: unexpected symbol near '='. QUITTING."
            )
        );
        let good = dir.join("good.lua");
        std::fs::write(&good, "io.write('x')\n").unwrap();
        assert!(check(good.to_str().unwrap()).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
