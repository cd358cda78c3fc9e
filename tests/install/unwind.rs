//! The musl addon's unwinder, checked on a program linked the same way (dynamic musl, LLVM's
//! libunwind linked in as `libgcc_s.a`): no musl Node exists here to load the addon itself, but
//! this program runs under musl's dynamic loader. napi-rs turns a Rust panic into a JS error with
//! `catch_unwind`; if the unwinder were missing or broken, that would abort the Node process.

use std::panic;

fn nested(depth: u32) -> u32 {
    if depth == 0 {
        panic!("raised on purpose, {} frames down", std::env::args().count() + 7);
    }
    nested(depth - 1) + 1
}

fn main() {
    panic::set_hook(Box::new(|_| {}));
    let caught = panic::catch_unwind(|| nested(8));
    let message = match caught {
        Ok(_) => panic_free_exit("the panic was not raised"),
        Err(payload) => match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(_) => panic_free_exit("the panic payload was lost"),
        },
    };
    assert_eq!(message, "raised on purpose, 8 frames down");
    println!("unwind: caught a panic 8 frames down: {message}");
}

fn panic_free_exit(why: &str) -> ! {
    eprintln!("unwind: {why}");
    std::process::exit(1)
}
