"""Delay model: logistic regression of 'departure delay > 15 min' on schedule and weather.

Writes one row per coefficient (and the intercept); reports the test-set AUC, and the
train and test row counts, as metrics.
"""

from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import StandardScaler, VectorAssembler

import jobkit

FEATURES = ["month", "sched_dep_hour", "distance", "temp", "dewp", "humid", "wind_speed", "precip", "visib"]


def transform(spark, inputs, params):
    # cached: the optimizer makes one pass over the data per iteration
    data = inputs["features"].select(*FEATURES, "delayed").dropna().cache()
    train, test = data.randomSplit([1 - params["test_fraction"], params["test_fraction"]], seed=params["seed"])
    pipeline = Pipeline(
        stages=[
            VectorAssembler(inputCols=FEATURES, outputCol="raw_features"),
            StandardScaler(inputCol="raw_features", outputCol="features"),
            LogisticRegression(featuresCol="features", labelCol="delayed", maxIter=20),
        ]
    )
    model = pipeline.fit(train)
    auc = BinaryClassificationEvaluator(labelCol="delayed", metricName="areaUnderROC").evaluate(model.transform(test))
    regression = model.stages[-1]
    rows = [(name, float(w)) for name, w in zip(FEATURES, regression.coefficients)]
    rows.append(("(intercept)", float(regression.intercept)))
    table = spark.createDataFrame(rows, "feature string, coefficient double")
    return table, {"auc": auc, "train_rows": train.count(), "test_rows": test.count()}


if __name__ == "__main__":
    jobkit.run(transform)
