# Reads `perf script` output (cpu-clock samples with call graphs; .NET JIT'd code named by the
# runtime's perf map) and prints the CPU shares: user against kernel mode, then a table by area. A
# kernel-mode sample goes to its system call (what the kernel did for the process); a user-mode
# sample to the first area found from the leaf up. Samples in the JIT or tiering are left out: with
# ReadyToRun off (so that framework code is named) they are a start-up cost a normal run does not pay.
#   usage: python3 perf-areas.py [TOP_N] < OUT.perf.txt
import sys, re, collections
AREAS = [  # (area, regex on a frame's symbol); order matters only for ties at one frame
    ('GC', r'WKS::|SVR::|gc_heap|GCHeap|GarbageCollect|memset_repmovs|Alloc.*Slow|JIT_New|RhpNew|AllocateObject|AllocateSzArray'),
    ('JIT / type loading', r'libclrjit|MethodDesc::|ClassLoader|TieredCompilation|PreStub|ThePreStub'),
    ('logging', r'Microsoft\.Extensions\.Logging|LoggerMessage|\.Log\.|ILogger'),
    ('metrics', r'System\.Diagnostics\.Metrics|OpenTelemetry\.Metrics|AggregatorStore|SwitchboardMetrics|MetricsEventSource|KestrelMetrics|HostingMetrics|RoutingMetrics|MetricsContext'),
    ('Switchboard', r'Switchboard\.'),
    ('WebSocket (ManagedWebSocket, upgrade)', r'System\.Net\.WebSockets|AspNetCore\.WebSockets|WebSocketMiddleware|HandshakeHelpers|Sha1|SHA1|OneShotHashProvider|EvpDigest|libcrypto|libssl'),
    ('ASP.NET hosting/routing/middleware', r'AspNetCore\.Hosting|AspNetCore\.Routing|AspNetCore\.Http\.|AspNetCore\.Diagnostics|HostFiltering|Instrumentation\.AspNetCore|HttpContext|RequestDelegate|Endpoint'),
    ('Kestrel HTTP/1.1', r'Kestrel\.Core'),
    ('sockets + pipes (Kestrel transport, System.Net.Sockets)', r'Kestrel\.Transport|System\.Net\.Sockets|System\.IO\.Pipelines|SocketAsyncEngine|SocketPal|Interop\+Sys'),
    ('runtime native (libcoreclr: GC, allocation, stubs)', r'libcoreclr'),
    ('thread pool / async machinery', r'System\.Threading\.|System\.Runtime\.CompilerServices|ExecutionContext|ThreadPool'),
]
AREAS = [(a, re.compile(r)) for a, r in AREAS]
samples = []  # list of (frames leaf-first)
cur = None
for line in sys.stdin:
    line = line.rstrip('\n')
    if not line.strip():
        if cur is not None: samples.append(cur); cur = None
        continue
    if not line.startswith((' ', '\t')):
        cur = []; continue
    m = re.match(r'\s*[0-9a-f]+\s+(.*)\s+\((.*)\)$', line)
    if m and cur is not None:
        sym, dso = m.group(1), m.group(2)
        sym = re.sub(r'\+0x[0-9a-f]+$', '', sym)
        cur.append((sym, dso))
if cur: samples.append(cur)
n0 = len(samples)
samples = [x for x in samples if not any(re.search(r'libclrjit|ThePreStub|PreStubWorker|MethodDesc::DoPrestub|TieredCompilation', f[0]+f[1]) for f in x)]
n = len(samples)
print(f'{n0} samples, {n0-n} of them JIT/tiering (left out: DOTNET_ReadyToRun=0 for symbols)')
def is_kernel(fr): return 'kernel' in fr[1] or fr[1].startswith('[k')
kern = sum(1 for s in samples if s and is_kernel(s[0]))
print(f'samples {n} (999 Hz cpu-clock, ~{n/999:.1f} CPU-s); kernel-mode leaf {kern/n*100:.1f}%, user {100-kern/n*100:.1f}%')
first = collections.Counter(); kfirst = collections.Counter()
for s in samples:
    got = None
    for sym, dso in s:
        text = sym + ' ' + dso
        for a, r in AREAS:
            if r.search(text):
                if got is None: got = a
                break
    if s and is_kernel(s[0]):
        # The system call is the frame just below do_syscall_64 (past the x64_sys_call dispatcher);
        # its name loses the kernel's prefixes: __x64_sys_sendto, ksys_write -> sendto, write.
        names = [f[0] for f in s]
        call = None
        if 'do_syscall_64' in names:
            below = [x for x in names[:names.index('do_syscall_64')] if x != 'x64_sys_call']
            call = re.sub(r'^(__x64_sys_|__do_sys_|__se_sys_|ksys_|__sys_)', '', below[-1]) if below else None
        got = 'kernel: ' + (call or 'no syscall (interrupts, softirq, scheduling)')
    got = got or ('other user: ' + (s[0][1].split('/')[-1] if s else '?'))
    first[got] += 1
    if s and is_kernel(s[0]): kfirst[got] += 1
print('\nby area (a sample goes to the first area found from the leaf up; kernel-mode samples by system call):')
print('| area | share | of which in kernel |'); print('| --- | ---: | ---: |')
for a, v in first.most_common(): print(f'| {a} | {v/n*100:.1f}% | {kfirst[a]/n*100:.1f}% |')
mi = collections.Counter(); me = collections.Counter()
for s in samples:
    if s: me[s[0][0][:140]] += 1
    for sym in set(f[0][:140] for f in s): mi[sym] += 1
K = int(sys.argv[1]) if len(sys.argv) > 1 else 40
print('\ntop inclusive:')
for k, v in mi.most_common(K): print(f'  {v/n*100:5.1f}%  {k}')
print('\ntop exclusive:')
for k, v in me.most_common(K): print(f'  {v/n*100:5.1f}%  {k}')
