//! Where attachments' text is extracted (SPEC §2.6): the PDF and Office readers follow a
//! file's own structure, and a hostile file can make them allocate without bound, recurse
//! past the stack or loop. They run in a child process, the function's own binary started
//! again with [`CHILD_FLAG`], under an address-space limit (`RLIMIT_AS`) and a deadline; a
//! child that dies or overstays costs one counted skip and never the crawler, whose memory
//! stays its own. Plain text, CSV, Markdown and HTML are read in process: their readers are
//! linear in the (already capped) download and hold no recursion.
//!
//! Every binary that runs the crawler calls [`child_main_if_asked`] first thing in `main`.

use super::{cap_text, office, pdf, text, Extracted, Format, Limits, Skip};
use std::path::{Path, PathBuf};

/// The first argument that makes a binary an extraction child:
/// `<exe> --extract-attachment <format> <in> <out> <memory bytes> <max unpacked> <max text>`.
pub const CHILD_FLAG: &str = "--extract-attachment";

/// Reads a file of `format` in this process, with panics turned into [`Skip::Malformed`].
/// The sandbox child's body, and what the fast tier's tests call directly.
pub fn extract_here(format: Format, bytes: &[u8], max_unpacked: u64, max_text: usize) -> Result<Extracted, Skip> {
    let read = std::panic::catch_unwind(|| match format {
        Format::Pdf => pdf::pdf(bytes),
        Format::Docx => office::docx(bytes, max_unpacked),
        Format::Pptx => office::pptx(bytes, max_unpacked),
        Format::Xlsx => office::xlsx(bytes, max_unpacked),
        Format::Csv | Format::Text | Format::Markdown => text::plain(bytes),
        Format::Html => text::html(bytes),
    })
    .map_err(|_| Skip::Malformed)?;
    let mut extracted = read?;
    extracted.truncated |= cap_text(&mut extracted.text, max_text);
    Ok(extracted)
}

/// When this process was started as an extraction child: does the work and exits.
/// Otherwise returns at once.
pub fn child_main_if_asked() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some(CHILD_FLAG) {
        return;
    }
    std::process::exit(child_main(&args[2..]));
}

fn child_main(args: &[String]) -> i32 {
    let [format, input, output, memory, unpacked, max_text] = args else {
        eprintln!("usage: {CHILD_FLAG} <format> <in> <out> <memory bytes> <max unpacked> <max text>");
        return 2;
    };
    let (Some(format), Ok(memory), Ok(unpacked), Ok(max_text)) = (
        Format::from_name(format),
        memory.parse::<u64>(),
        unpacked.parse::<u64>(),
        max_text.parse::<usize>(),
    ) else {
        eprintln!("{CHILD_FLAG}: bad arguments");
        return 2;
    };
    // The limit holds from here on: the input is read under it too.
    if let Err(e) = rlimit::setrlimit(rlimit::Resource::AS, memory, memory) {
        eprintln!("{CHILD_FLAG}: cannot limit memory: {e}");
        return 3;
    }
    // Panics are answered as skips; their default message would only be noise.
    std::panic::set_hook(Box::new(|_| {}));
    let result = match std::fs::read(input) {
        Ok(bytes) => extract_here(format, &bytes, unpacked, max_text),
        Err(_) => Err(Skip::Malformed),
    };
    match serde_json::to_vec(&result).map(|json| std::fs::write(output, json)) {
        Ok(Ok(())) => 0,
        _ => 4,
    }
}

/// Runs extractions in child processes of `program`, the function's own binary by default.
#[derive(Clone, Debug)]
pub struct Sandbox {
    program: PathBuf,
    limits: Limits,
}

impl Sandbox {
    /// Children of `program` (a binary that calls [`child_main_if_asked`]) under `limits`.
    pub fn new(program: PathBuf, limits: Limits) -> Self {
        Self { program, limits }
    }

    /// The text of the file at `path`, in `format`. Text formats are read here; the others
    /// in a child that may use `extract_memory_bytes` and `extract_timeout`, no more.
    pub async fn extract(&self, format: Format, path: &Path) -> Result<Extracted, Skip> {
        let l = &self.limits;
        if matches!(format, Format::Csv | Format::Text | Format::Markdown | Format::Html) {
            let bytes = tokio::fs::read(path).await.map_err(|_| Skip::Malformed)?;
            return extract_here(format, &bytes, l.max_unpacked_bytes(), l.max_text_bytes);
        }
        let out = path.with_extension("extracted.json");
        let child = tokio::process::Command::new(&self.program)
            .arg(CHILD_FLAG)
            .arg(format.name())
            .arg(path)
            .arg(&out)
            .arg(l.extract_memory_bytes.to_string())
            .arg(l.max_unpacked_bytes().to_string())
            .arg(l.max_text_bytes.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                tracing::error!(error = %e, program = %self.program.display(), "cannot start the extraction sandbox");
                Skip::Malformed
            })?;
        // On the deadline the child is dropped, which kills it (`kill_on_drop`).
        let output = match tokio::time::timeout(l.extract_timeout, child.wait_with_output()).await {
            Ok(output) => output.map_err(|_| Skip::Malformed)?,
            Err(_) => {
                let _ = tokio::fs::remove_file(&out).await;
                return Err(Skip::Timeout);
            }
        };
        let answer = tokio::fs::read(&out).await;
        let _ = tokio::fs::remove_file(&out).await;
        match (output.status.success(), answer) {
            (true, Ok(json)) => serde_json::from_slice(&json).unwrap_or(Err(Skip::Malformed)),
            _ => Err(died(output.status, &output.stderr)),
        }
    }
}

/// Why a child that gave no answer died. Rust reports both an allocation the memory limit
/// refused ("memory allocation of N bytes failed") and a stack overflow ("has overflowed
/// its stack") on stderr before aborting; a SIGKILL is the kernel's OOM killer.
fn died(status: std::process::ExitStatus, stderr: &[u8]) -> Skip {
    use std::os::unix::process::ExitStatusExt;
    let said = String::from_utf8_lossy(&stderr[..stderr.len().min(4_096)]);
    if said.contains("overflowed its stack") {
        Skip::Hostile
    } else if said.contains("memory allocation") || status.signal() == Some(9) {
        Skip::Memory
    } else {
        Skip::Malformed
    }
}
