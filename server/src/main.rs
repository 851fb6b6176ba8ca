//! The Teacher ID server: serves the service, and offers commands to migrate and seed the database (listed in
//! `server::cli`).

use server::config::Config;
use std::process::ExitCode;

// Rendering a page allocates many small short-lived strings and futures across worker threads; glibc's
// malloc/free took about 15% of a page's time in the profile, mimalloc's thread-local free lists far less.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // A page rendered by a debug build nests its views' futures deeply enough to overflow the 2 MiB a worker thread
    // gets by default (the support dashboard did); 8 MiB leaves room. Release builds need far less.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("could not start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    server::telemetry::init(&config);
    server::cli::run(&args, config).await
}
