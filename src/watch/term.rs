//! The interactive loop of `queuelab watch` on a real terminal (crossterm through
//! ratatui: raw mode and the alternate screen, restored on exit and on panic).

use super::{view, Key, Player};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::time::{Duration, Instant};

/// Frames per second while playing.
const FPS: u64 = 15;

/// The key a terminal event stands for, if any.
pub fn key_of(ev: &Event) -> Option<Key> {
    let Event::Key(k) = ev else {
        return None;
    };
    if k.kind != KeyEventKind::Press {
        return None;
    }
    Some(match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Quit,
        KeyCode::Char(' ') | KeyCode::Char('p') => Key::Pause,
        KeyCode::Char('+') | KeyCode::Char('=') | KeyCode::Up => Key::Faster,
        KeyCode::Char('-') | KeyCode::Down => Key::Slower,
        KeyCode::Right | KeyCode::Char('f') => Key::SeekForward,
        KeyCode::Left | KeyCode::Char('b') => Key::SeekBack,
        KeyCode::Char('.') => Key::StepForward,
        KeyCode::Char(',') => Key::StepBack,
        KeyCode::Char('n') | KeyCode::Tab => Key::Next,
        KeyCode::Char('N') | KeyCode::BackTab => Key::Previous,
        KeyCode::Char('r') | KeyCode::Home => Key::Restart,
        KeyCode::Char('q') | KeyCode::Esc => Key::Quit,
        _ => return None,
    })
}

/// Plays `p` until the viewer quits (or Ctrl-C). The terminal is restored afterwards,
/// whatever happened.
pub fn play(p: &mut Player) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = (|| -> std::io::Result<()> {
        let frame = Duration::from_millis(1000 / FPS);
        let mut last = Instant::now();
        loop {
            terminal.draw(|f| view::draw(f, p))?;
            if event::poll(frame)? {
                if let Some(k) = key_of(&event::read()?) {
                    if !p.key(k) {
                        return Ok(());
                    }
                }
            }
            if crate::guard::interrupted() {
                return Ok(());
            }
            let now = Instant::now();
            p.advance((now - last).as_secs_f64());
            last = now;
        }
    })();
    ratatui::restore();
    result
}
