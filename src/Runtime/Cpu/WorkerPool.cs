using System;
using System.Threading;

namespace Aot.Runtime.Cpu;

/// <summary>A unit of parallel work: task indices 0..count-1, each run exactly once, on any thread.</summary>
public interface IParallelJob
{
    void Execute(int task);
}

/// <summary>
/// A fixed set of worker threads for one compiled model instance. The calling thread works too, so a pool of N threads
/// starts N-1 workers. Nothing is allocated per call (jobs are objects the caller keeps), and idle workers spin briefly
/// before blocking, so the back-to-back kernels of one inference do not pay a kernel wake-up each. One thread means
/// plain serial loops. Not reentrant: one Run at a time, like the model instance that owns it.
/// <para>
/// Thread i first runs its own share of the tasks, <see cref="Share"/>(tasks, i, threads), in order (the caller is
/// thread 0), then takes what is left of the others' shares from their ends. Kernels number their tasks in the order
/// of the data they write (rows of an image, tiles in row-major order), so thread i writes about the same fraction of
/// every layer, and the next layer's share of it is mostly what the same thread wrote: data moves between cores only
/// at share boundaries. Measured on this project's 2-vCPU VM when its two vCPUs sit far apart (a cache-line round
/// trip of ~360 ns instead of ~75): small_cnn at 2 threads took 1.4-1.5 ms with tasks handed out first come, first
/// served (more than on one thread, 1.18 ms), ~1.1 ms with shares; with the vCPUs close, 0.72 and 0.66 ms.
/// </para>
/// <para>
/// Each share is one 64-bit word (generation, next task from the front, end from the back), claimed by
/// compare-and-swap: the owner from the front, others from the back. Run returns once every task has finished,
/// without waiting for workers that took none: when another process holds a core, a worker that is not running simply
/// does not take part, and the others do its share (waiting for it to check in cost a scheduler quantum per kernel,
/// milliseconds per inference). A claim only succeeds on a word of the current generation, so a late worker never
/// runs a task of a finished job, and the caller may reuse the job object.
/// </para>
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private const int SpinIterations = 20_000;

    /// <summary>Longs between two shares' words: one cache line, so owners claiming tasks do not share lines.</summary>
    private const int ShareStride = 8;

    /// <summary>Tasks a Run may have: a share's front and end are 16 bits each.</summary>
    public const int MaxTasks = ushort.MaxValue;

    private readonly Thread[] _workers;
    private readonly long[] _shares;
    private readonly object _gate = new();
    private IParallelJob? _job;
    private int _done;
    private int _generation;
    private int _sleepers;
    private bool _disposed;
    private Exception? _failure;

    public WorkerPool(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "a pool needs at least one thread");
        Threads = threads;
        _shares = new long[threads * ShareStride];
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"Aot worker {index}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads that run tasks, the caller included.</summary>
    public int Threads { get; }

    /// <summary>Task <paramref name="task"/>'s share [First, Last) of <paramref name="units"/> units split evenly
    /// between <paramref name="tasks"/> tasks (contiguous, in task order, sizes differing by at most one).</summary>
    public static (int First, int Last) Share(int units, int task, int tasks) =>
        ((int)((long)units * task / tasks), (int)((long)units * (task + 1) / tasks));

    /// <summary>Runs tasks 0..taskCount-1 of <paramref name="job"/> and returns when all are done.</summary>
    public void Run(IParallelJob job, int taskCount)
    {
        if (_workers.Length == 0 || taskCount <= 1)
        {
            for (int t = 0; t < taskCount; t++) job.Execute(t);
            return;
        }

        if (_disposed) throw new ObjectDisposedException(nameof(WorkerPool));
        if (taskCount > MaxTasks) throw new ArgumentOutOfRangeException(nameof(taskCount), taskCount, $"a run has at most {MaxTasks} tasks");
        _job = job;
        _failure = null;
        Volatile.Write(ref _done, 0);
        int generation = _generation + 1;
        for (int i = 0; i < Threads; i++)
        {
            var (first, last) = Share(taskCount, i, Threads);
            Volatile.Write(ref _shares[i * ShareStride], Pack(generation, first, last));
        }

        Volatile.Write(ref _generation, generation); // after the shares: a worker that sees it finds them set
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_gate) Monitor.PulseAll(_gate);
        }

        Work(0, generation);

        // Only tasks someone claimed are outstanding. SpinOnce yields after a short spin (never sleeps), so a worker
        // that another process pushed off its core mid-task gets scheduled to finish it.
        var spinner = default(SpinWait);
        while (Volatile.Read(ref _done) < taskCount) spinner.SpinOnce(sleep1Threshold: -1);
        _job = null;
        if (_failure is { } failure) throw new AggregateException("a parallel kernel task failed", failure);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            Monitor.PulseAll(_gate);
        }
    }

    private static long Pack(int generation, int front, int end) => (long)generation << 32 | (long)front << 16 | (uint)end;

    /// <summary>Thread <paramref name="self"/>'s tasks of <paramref name="generation"/>: its own share from the front,
    /// then the other shares from their ends, until none is left or a newer generation started.</summary>
    private void Work(int self, int generation)
    {
        for (int k = 0; k < Threads; k++)
        {
            int owner = (self + k) % Threads;
            bool own = k == 0;
            while (true)
            {
                ref long word = ref _shares[owner * ShareStride];
                long share = Volatile.Read(ref word);
                int front = (int)(share >> 16) & 0xFFFF, end = (int)share & 0xFFFF;
                if ((int)(share >> 32) != generation) return;
                if (front >= end) break;
                int task = own ? front : end - 1;
                long claimed = own ? Pack(generation, front + 1, end) : Pack(generation, front, end - 1);
                if (Interlocked.CompareExchange(ref word, claimed, share) != share) continue;

                // The claim succeeded on a word of this generation, so the run is not finished (this task is not done)
                // and _job is still its job.
                try
                {
                    _job!.Execute(task);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _failure, e, null);
                }

                Interlocked.Increment(ref _done);
            }
        }
    }

    private void WorkerLoop(int self)
    {
        int seen = 0;
        while (true)
        {
            // Spin first: the next kernel of the same inference usually follows within microseconds.
            for (int i = 0; i < SpinIterations && Volatile.Read(ref _generation) == seen && !_disposed; i++) Thread.SpinWait(8);
            lock (_gate)
            {
                Interlocked.Increment(ref _sleepers);
                while (Volatile.Read(ref _generation) == seen && !_disposed) Monitor.Wait(_gate);
                Interlocked.Decrement(ref _sleepers);
                if (_disposed) return;
            }

            seen = Volatile.Read(ref _generation);
            Work(self, seen);
        }
    }
}
