//! A one-line progress indicator on standard error, drawn only when standard error is a
//! terminal (so logs and tests see nothing but the final message).

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

const FRAMES: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// Draws `FRAME message (m:ss left)` over itself.
#[derive(Debug)]
pub(crate) struct Spinner {
    enabled: bool,
    frame: usize,
    message: String,
}

impl Spinner {
    /// A spinner that draws only if standard error is a terminal.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self { enabled: std::io::stderr().is_terminal(), frame: 0, message: message.into() }
    }

    /// Advances one frame, showing the time left.
    pub(crate) fn tick(&mut self, left: Duration) {
        if !self.enabled {
            return;
        }
        let seconds = left.as_secs();
        let frame = FRAMES[self.frame % FRAMES.len()];
        self.frame += 1;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{frame} {} ({}:{:02} left)", self.message, seconds / 60, seconds % 60);
        let _ = err.flush();
    }

    /// Erases the line.
    pub(crate) fn finish(&mut self) {
        if self.enabled && self.frame > 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
        self.frame = 0;
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.finish();
    }
}
