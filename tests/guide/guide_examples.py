"""The Python examples of the integration guide for this API, run against a maia workspace.

Adapted only where the guide names things that must already exist: the prompt files are created
and committed first (an experiment pins its prompts when it starts), the imports name
``maia_git``, the queue entries exp_003 and exp_004 that the guide's "Manage Experiments" block
refers to are added before it runs, and the integration workflow gets the traffic its "after 30+
interactions per arm" assumes (1,200 simulated users) before its last step. Each section prints a
marker so the test can check what every example printed.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

for name in ("cloud_architect_v2.1.md", "cloud_architect_v2.2_react.md"):
    Path("claude/agents").mkdir(parents=True, exist_ok=True)
    Path("claude/agents", name).write_text(f"# {name}\nYou are a cloud architect.\n")
subprocess.run(["git", "add", "claude/agents"], check=True)
subprocess.run(["git", "commit", "-q", "-m", "Cloud architect prompts"], check=True)

print("== 1. quality scorer")
from maia_git import AutomatedQualityScorer  # noqa: E402

# Initialize scorer
scorer = AutomatedQualityScorer()

# Evaluate a response
response_data = {
    "status": "completed",
    "requirements": ["req1", "req2", "req3"],
    "addressed_requirements": ["req1", "req2", "req3"],
    "validation_performed": True,
    "edge_cases_considered": True,
    "tools_used": ["correct_tool_1", "correct_tool_2"],
    "expected_tools": ["correct_tool_1", "correct_tool_2"],
    "systematic_planning": True,
    "logical_breakdown": True,
    "explanation_quality": "excellent",
    "token_count": 500,
    "execution_time_seconds": 5.0,
}

score = scorer.evaluate_response(
    response_data=response_data, agent_name="cloud_architect", response_id="response_001"
)

print(f"Overall Score: {score.overall_score}/100")
print(f"Task Completion: {score.criteria_scores['task_completion']}/100")
print(f"Tool Accuracy: {score.criteria_scores['tool_accuracy']}/100")

# Get average score over last 7 days
avg_score = scorer.get_average_score(agent_name="cloud_architect", time_window_days=7)

print(f"7-day average: {avg_score}/100")

print("== 2. a/b testing")
from maia_git import ABTestingFramework  # noqa: E402

# Initialize framework
framework = ABTestingFramework()

# Create experiment
experiment = framework.create_experiment(
    name="Cloud Architect Latency Optimization",
    hypothesis="Adding ReACT pattern reduces latency by 20%",
    agent_name="cloud_architect",
    control_prompt=Path("claude/agents/cloud_architect_v2.1.md"),
    treatment_prompt=Path("claude/agents/cloud_architect_v2.2_react.md"),
)

print(f"Experiment ID: {experiment.experiment_id}")

# Deterministic assignment (same user always gets same arm)
treatment_arm = framework.assign_treatment(experiment_id="exp_001", user_id="nathan@example.com")

print(f"User assigned to: {treatment_arm}")  # "control" or "treatment"

# Record interaction with quality score
framework.record_interaction(
    experiment_id="exp_001",
    user_id="nathan@example.com",
    success=True,  # Task completed successfully
    quality_score=85.5,  # From quality scorer
    tokens_used=750,
    latency_ms=3200.0,
)

# Run statistical analysis
result = framework.analyze_experiment("exp_001")

if result:
    print(f"Control: {result.control_rate:.1%} completion rate")
    print(f"Treatment: {result.treatment_rate:.1%} completion rate")
    print(f"Effect size: {result.effect_size:.1f}% improvement")
    print(f"P-value: {result.p_value:.4f}")
    print(f"Statistically significant: {result.is_significant}")
    print(f"Winner: {result.winner}")
else:
    print("Insufficient data for analysis (need 30+ interactions per arm)")

# Automatically promote if criteria met (>15% improvement + p<0.05)
promoted = framework.auto_promote_winner("exp_001")

if promoted:
    print(f"Promoted {promoted.winner} prompt to production!")
else:
    print("Not ready for promotion (criteria not met)")

print("== 3. experiment queue")
from maia_git import ExperimentQueue, Priority  # noqa: E402

# Max 3 concurrent experiments
queue = ExperimentQueue(max_concurrent=3)

# Add high-priority experiment
exp1 = queue.add_experiment(
    experiment_id="exp_001",
    agent_name="cloud_architect",
    priority=Priority.HIGH,
    notes="Critical latency optimization test",
)

# Add medium-priority experiment
exp2 = queue.add_experiment(
    experiment_id="exp_002",
    agent_name="jobs_agent",
    priority=Priority.MEDIUM,
    notes="Resume parsing improvement",
)

# Experiments auto-start if capacity available
status = queue.get_queue_status()

print(f"Active: {status['queue_counts']['active']}/{status['capacity']['max_concurrent']}")
print(f"Queued: {status['queue_counts']['queued']}")
print(f"Available Slots: {status['capacity']['available_slots']}")

# Show active experiments
for exp in status["active_experiments"]:
    print(f"  {exp['experiment_id']} ({exp['agent_name']}) - Priority: {exp['priority']}")

# (setup for the names the next block uses: exp_004 keeps security_agent busy, so exp_003 waits)
queue.add_experiment("exp_004", "security_agent", Priority.MEDIUM, notes="Keeps a slot")
queue.add_experiment("exp_003", "security_agent", Priority.LOW, notes="Waits its turn")

# Pause experiment (frees slot for next queued)
queue.pause_experiment("exp_001", reason="Waiting for more data")

# Resume paused experiment
queue.start_experiment("exp_001")

# Complete experiment
queue.complete_experiment("exp_001", outcome="Treatment 18% better, promoted")

# Cancel experiment
queue.cancel_experiment("exp_002", reason="Hypothesis invalidated")

# Change priority (queued experiments only)
queue.change_priority("exp_003", Priority.HIGH)

# Get last 10 completed/cancelled experiments
history = queue.get_history(limit=10)

for exp in history:
    print(f"{exp.experiment_id} - Status: {exp.status}")
    print(f"  Created: {exp.created_at}")
    print(f"  Completed: {exp.completed_at}")
    print(f"  Notes: {exp.notes}")

print("== 4. integration")
# Initialize systems
framework = ABTestingFramework()
queue = ExperimentQueue(max_concurrent=3)

# Create experiment
experiment = framework.create_experiment(
    name="Cloud Architect ReACT Pattern",
    hypothesis="ReACT pattern improves task completion by 20%",
    agent_name="cloud_architect",
    control_prompt=Path("claude/agents/cloud_architect_v2.1.md"),
    treatment_prompt=Path("claude/agents/cloud_architect_v2.2_react.md"),
)

# Add to queue (high priority)
queue.add_experiment(
    experiment_id=experiment.experiment_id,
    agent_name="cloud_architect",
    priority=Priority.HIGH,
    notes="Critical for Azure proposal workflow",
)

scorer = AutomatedQualityScorer()

# User makes request
user_id = "nathan@example.com"

# Assign treatment arm (deterministic)
treatment_arm = framework.assign_treatment(experiment.experiment_id, user_id)

# Evaluate quality
response_data = {
    "status": "completed",
    "requirements": ["design_azure_architecture", "cost_optimization"],
    "addressed_requirements": ["design_azure_architecture", "cost_optimization"],
    "validation_performed": True,
    "edge_cases_considered": True,
    "tools_used": ["azure_pricing_api", "terraform_generator"],
    "expected_tools": ["azure_pricing_api", "terraform_generator"],
    "systematic_planning": True,
    "logical_breakdown": True,
    "explanation_quality": "excellent",
    "token_count": 850,
    "execution_time_seconds": 6.5,
}

quality_score = scorer.evaluate_response(
    response_data=response_data,
    agent_name="cloud_architect",
    response_id=f"{experiment.experiment_id}_{user_id}_001",
)

# Record interaction
framework.record_interaction(
    experiment_id=experiment.experiment_id,
    user_id=user_id,
    success=True,  # Task completed
    quality_score=quality_score.overall_score,
    tokens_used=850,
    latency_ms=6500.0,
)

# (setup: the traffic the next step assumes; the treatment completes more tasks)
rng = random.Random(1200)
for number in range(1200):
    simulated = f"user-{number:04d}"
    chance = (
        0.8
        if framework.assign_treatment(experiment.experiment_id, simulated) == "treatment"
        else 0.5
    )
    framework.record_interaction(
        experiment.experiment_id, simulated, rng.random() < chance, quality_score=80.0
    )

# After 30+ interactions per arm, analyze
result = framework.analyze_experiment(experiment.experiment_id)

if result and result.is_significant:
    print(f"✅ Statistically significant result!")  # noqa: F541
    print(f"   Effect size: {result.effect_size:.1f}% improvement")
    print(f"   P-value: {result.p_value:.4f}")

    # Auto-promote if criteria met
    promoted = framework.auto_promote_winner(experiment.experiment_id)

    if promoted:
        print(f"🚀 Promoted {promoted.winner} to production!")

        # Complete in queue
        queue.complete_experiment(
            experiment.experiment_id,
            outcome=f"Treatment {result.effect_size:.1f}% better, p={result.p_value:.4f}",
        )
else:
    print("❌ No significant difference found")
