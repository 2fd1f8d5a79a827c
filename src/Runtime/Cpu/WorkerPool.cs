using System;
using System.Threading;

namespace Aot.Runtime.Cpu;

/// <summary>A unit of parallel work: task indices 0..count-1, each run exactly once, on any thread.</summary>
public interface IParallelJob
{
    void Execute(int task);
}

/// <summary>
/// A fixed set of worker threads for one compiled model instance. <see cref="Run"/> hands out task indices with
/// an interlocked counter; the calling thread works too, so a pool of N threads starts N-1 workers. Nothing is
/// allocated per call (jobs are objects the caller keeps), and idle workers spin briefly before blocking, so the
/// back-to-back kernels of one inference do not pay a kernel wake-up each. One thread means plain serial loops.
/// Not reentrant: one Run at a time, like the model instance that owns it.
/// </summary>
public sealed class WorkerPool : IDisposable
{
    private const int SpinIterations = 20_000;

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private IParallelJob? _job;
    private int _taskCount;
    private int _nextTask;
    private int _busyWorkers;
    private int _generation;
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
        Volatile.Write(ref _nextTask, 0);
        Volatile.Write(ref _busyWorkers, _workers.Length);
        lock (_gate)
        {
            _generation++;
            Monitor.PulseAll(_gate);
        }

        Work();
        var spinner = default(SpinWait);
        // Workers must all check in before the next Run reuses the job fields. SpinOnce yields after a short spin, so a
        // worker that another process pushed off its core gets scheduled instead of being starved by this wait
        // (measured: with the second core busy, a pure spin turned a 46 us inference into 11 ms). It never sleeps:
        // Sleep(1) rounds up to a scheduler tick, and a worker waking from Monitor.Wait after a long serial kernel
        // then cost milliseconds per Run (small_cnn at 2 threads had a p90 of 17 ms for a 3.6 ms median).
        while (Volatile.Read(ref _busyWorkers) > 0) spinner.SpinOnce(sleep1Threshold: -1);
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

    private void Work()
    {
        var job = _job!;
        int task;
        while ((task = Interlocked.Increment(ref _nextTask) - 1) < _taskCount)
        {
            try
            {
                job.Execute(task);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }
        }
    }

    private void WorkerLoop()
    {
        int seen = 0;
        while (true)
        {
            // Spin first: the next kernel of the same inference usually follows within microseconds.
            for (int i = 0; i < SpinIterations && Volatile.Read(ref _generation) == seen && !_disposed; i++) Thread.SpinWait(8);
            lock (_gate)
            {
                while (_generation == seen && !_disposed) Monitor.Wait(_gate);
                if (_disposed) return;
                seen = _generation;
            }

            Work();
            Interlocked.Decrement(ref _busyWorkers);
        }
    }
}
