;; hello.wat: the program of examples/wasm-hello, a WASI preview1 command written in the
;; WebAssembly text format. `npm run examples` compiles it with the wabt npm package
;; (scripts/wasm-hello.mjs) into examples/wasm-hello/rootfs/hello.wasm, and wraps that module
;; as a component for examples/wasm-component.
;;
;; It prints "hello from wasm", every argument (argv[0] too), and the variable HELLO if it is
;; set. Then it reads its arguments after argv[0] as commands:
;;   exit=N    exit with status N (default 0)
;;   cat=PATH  copy the file PATH (looked up in the first preopen, the container's /) to
;;             stdout; cat=- is stdin
;;   trap      execute `unreachable` (hako exits 134, as wasmtime does)
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close"
    (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get"
    (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get"
    (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))

  ;; Layout: 0 iovec, 8 nwritten/nread, 16 argc, 20 argv size, 24 envc, 28 env size,
  ;; 32 opened fd, 48..63 number digits, 64.. literals, 4096 argv pointers,
  ;; 8192 environ pointers, 65536 argv strings, 131072 environ strings, 196608 file buffer.
  (memory (export "memory") 4)
  (data (i32.const 64) "hello from wasm\n")
  (data (i32.const 96) "arg: ")
  (data (i32.const 104) "\n")
  (data (i32.const 112) "env: ")
  (data (i32.const 128) "exit=")
  (data (i32.const 144) "cat=")
  (data (i32.const 160) "trap")
  (data (i32.const 176) "HELLO=")
  (data (i32.const 192) "cat: cannot open, errno ")

  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))

  (func $strlen (param $p i32) (result i32)
    (local $n i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $n))

  ;; 1 when the NUL-terminated string $s starts with the $n bytes at $lit.
  (func $prefix (param $s i32) (param $lit i32) (param $n i32) (result i32)
    (local $i i32)
    (block $differ
      (loop $next
        (if (i32.eq (local.get $i) (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ
          (i32.ne (i32.load8_u (i32.add (local.get $s) (local.get $i)))
                  (i32.load8_u (i32.add (local.get $lit) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func $atoi (param $p i32) (result i32)
    (local $n i32) (local $c i32)
    (block $done
      (loop $next
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (br_if $done (i32.gt_u (local.get $c) (i32.const 9)))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $n))

  (func $write_num (param $fd i32) (param $n i32)
    (local $p i32)
    (local.set $p (i32.const 64))
    (loop $next
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $next (i32.ne (local.get $n) (i32.const 0))))
    (call $write (local.get $fd) (local.get $p) (i32.sub (i32.const 64) (local.get $p))))

  ;; Copies a descriptor to stdout until end of file.
  (func $copy (param $fd i32)
    (block $eof
      (loop $more
        (i32.store (i32.const 0) (i32.const 196608))
        (i32.store (i32.const 4) (i32.const 4096))
        (br_if $eof (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $eof (i32.eqz (i32.load (i32.const 8))))
        (call $write (i32.const 1) (i32.const 196608) (i32.load (i32.const 8)))
        (br $more))))

  (func $cat (param $path i32)
    (local $err i32) (local $fd i32)
    ;; "-" is stdin.
    (if (i32.and (i32.eq (i32.load8_u (local.get $path)) (i32.const 45))
                 (i32.eqz (i32.load8_u offset=1 (local.get $path))))
      (then (call $copy (i32.const 0)) (return)))
    ;; WASI paths are relative to a directory descriptor: drop the leading slashes.
    (block $done
      (loop $next
        (br_if $done (i32.ne (i32.load8_u (local.get $path)) (i32.const 47)))
        (local.set $path (i32.add (local.get $path) (i32.const 1)))
        (br $next)))
    (local.set $err
      (call $path_open (i32.const 3) (i32.const 1) (local.get $path)
        (call $strlen (local.get $path)) (i32.const 0) (i64.const 2) (i64.const 0)
        (i32.const 0) (i32.const 32)))
    (if (local.get $err)
      (then
        (call $write (i32.const 2) (i32.const 192) (i32.const 24))
        (call $write_num (i32.const 2) (local.get $err))
        (call $write (i32.const 2) (i32.const 104) (i32.const 1))
        (call $proc_exit (i32.const 2))))
    (local.set $fd (i32.load (i32.const 32)))
    (call $copy (local.get $fd))
    (drop (call $fd_close (local.get $fd))))

  (func (export "_start")
    (local $i i32) (local $p i32) (local $code i32)
    (call $write (i32.const 1) (i32.const 64) (i32.const 16))

    (drop (call $args_sizes_get (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 4096) (i32.const 65536)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 16))))
        (local.set $p (i32.load (i32.add (i32.const 4096) (i32.shl (local.get $i) (i32.const 2)))))
        (call $write (i32.const 1) (i32.const 96) (i32.const 5))
        (call $write (i32.const 1) (local.get $p) (call $strlen (local.get $p)))
        (call $write (i32.const 1) (i32.const 104) (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))

    (drop (call $environ_sizes_get (i32.const 24) (i32.const 28)))
    (drop (call $environ_get (i32.const 8192) (i32.const 131072)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 24))))
        (local.set $p (i32.load (i32.add (i32.const 8192) (i32.shl (local.get $i) (i32.const 2)))))
        (if (call $prefix (local.get $p) (i32.const 176) (i32.const 6))
          (then
            (call $write (i32.const 1) (i32.const 112) (i32.const 5))
            (call $write (i32.const 1) (local.get $p) (call $strlen (local.get $p)))
            (call $write (i32.const 1) (i32.const 104) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))

    (local.set $i (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 16))))
        (local.set $p (i32.load (i32.add (i32.const 4096) (i32.shl (local.get $i) (i32.const 2)))))
        (if (call $prefix (local.get $p) (i32.const 160) (i32.const 4)) (then unreachable))
        (if (call $prefix (local.get $p) (i32.const 144) (i32.const 4))
          (then (call $cat (i32.add (local.get $p) (i32.const 4)))))
        (if (call $prefix (local.get $p) (i32.const 128) (i32.const 5))
          (then (local.set $code (call $atoi (i32.add (local.get $p) (i32.const 5))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $proc_exit (local.get $code))))
