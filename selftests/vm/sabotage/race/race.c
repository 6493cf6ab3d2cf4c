// SPDX-License-Identifier: GPL-2.0
/*
 * Not a test: a planted data race, for the KCSAN lane's proof that it
 * reports races (selftests/vm/check.sh).  Loading it races two CPUs on a
 * plain counter for five seconds (a busy host can keep the two vCPUs from
 * running at once for a while).  Built under two names: "mbox", whose
 * report must fail the run, and "kcsan_race", which stands for the core
 * kernel's own races and must only be listed.
 */
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/module.h>

static unsigned long racy_count;
static DECLARE_COMPLETION(race_done);

/* Each CPU's thread increments the counter for five seconds, unlocked. */
static int race_thread(void *unused)
{
	unsigned long end = jiffies + 5 * HZ;
	unsigned long n = 0;

	while (time_before(jiffies, end)) {
		racy_count++;	/* the planted race: no lock, no READ_ONCE */
		n++;
		cpu_relax();
	}
	pr_info("planted race: %lu increments on CPU %d\n", n,
		raw_smp_processor_id());
	/* Never returns into this module's text, which rmmod may free. */
	kthread_complete_and_exit(&race_done, 0);
}

static int __init race_init(void)
{
	struct task_struct *t[2];
	int i;

	if (num_online_cpus() < 2 || !cpu_online(0) || !cpu_online(1))
		return -ENODEV;	/* one CPU cannot race with itself */
	for (i = 0; i < 2; i++) {
		t[i] = kthread_create_on_cpu(race_thread, NULL, i, "race/%u");
		if (IS_ERR(t[i])) {
			while (i--)
				kthread_stop(t[i]);
			return PTR_ERR(t[i]);
		}
	}
	for (i = 0; i < 2; i++)
		wake_up_process(t[i]);
	for (i = 0; i < 2; i++)
		wait_for_completion(&race_done);
	return 0;
}
module_init(race_init);

static void __exit race_exit(void)
{
}
module_exit(race_exit);

MODULE_DESCRIPTION("A planted data race for the KCSAN lane's self-test");
MODULE_LICENSE("GPL");
