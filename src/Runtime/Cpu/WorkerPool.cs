using System;
using System.Threading;

namespace Aot.Runtime.Cpu;

/// <summary>A unit of parallel work: task indices 0..count-1, each run exactly once, on any thread.</summary>
public interface IParallelJob
{
    void Execute(int task);
}

/// <summary>
/// A fixed set of worker threads for one compiled model instance. <see cref="Run"/> hands out task indices from one
/// 64-bit word holding (generation, next task), claimed by compare-and-swap; the calling thread works too, so a pool
/// of N threads starts N-1 workers. Nothing is allocated per call (jobs are objects the caller keeps), and idle
/// workers spin briefly before blocking, so the back-to-back kernels of one inference do not pay a kernel wake-up
/// each. One thread means plain serial loops. Not reentrant: one Run at a time, like the model instance that owns it.
/// <para>
/// Run returns once every task has finished, without waiting for workers that took none: when another process holds
/// a core, a worker that is not running simply does not take part, and the caller does its share (waiting for it to
/// check in cost a scheduler quantum per kernel, milliseconds per inference). A worker only runs a task it claimed
/// for the current generation, so a late one never touches a finished job, and the caller may reuse the job object.
/// </para>
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private const int SpinIterations = 20_000;

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private IParallelJob? _job;
    private int _taskCount;
    private int _done;
    private long _state; // generation << 32 | next task
    private int _sleepers;
    private bool _disposed;
    private Exception? _failure;

    public WorkerPool(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "a pool needs at least one thread");
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"Aot worker {i + 1}" };
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
        _job = job;
        _taskCount = taskCount;
        _failure = null;
        Volatile.Write(ref _done, 0);
        int generation = (int)(Volatile.Read(ref _state) >> 32) + 1;
        Interlocked.Exchange(ref _state, (long)generation << 32); // publishes the fields above
        if (Volatile.Read(ref _sleepers) > 0)
        {
            lock (_gate) Monitor.PulseAll(_gate);
        }

        Work(generation);

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

    /// <summary>Claims and runs tasks of <paramref name="generation"/> until none is left or a newer one started.</summary>
    private void Work(int generation)
    {
        while (true)
        {
            long state = Volatile.Read(ref _state);
            if ((int)(state >> 32) != generation) return;
            var job = _job;
            int count = _taskCount;
            int task = (int)state;
            if (job is null || task >= count) return;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) != state) continue;

            // The claim succeeded while this generation was current, so job and count were its own: the caller cannot
            // start another generation before this task is counted as done.
            try
            {
                job.Execute(task);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }

            Interlocked.Increment(ref _done);
        }
    }

    private void WorkerLoop()
    {
        int seen = 0;
        while (true)
        {
            // Spin first: the next kernel of the same inference usually follows within microseconds.
            for (int i = 0; i < SpinIterations && (int)(Volatile.Read(ref _state) >> 32) == seen && !_disposed; i++) Thread.SpinWait(8);
            lock (_gate)
            {
                Interlocked.Increment(ref _sleepers);
                while ((int)(Volatile.Read(ref _state) >> 32) == seen && !_disposed) Monitor.Wait(_gate);
                Interlocked.Decrement(ref _sleepers);
                if (_disposed) return;
            }

            seen = (int)(Volatile.Read(ref _state) >> 32);
            Work(seen);
        }
    }
}
